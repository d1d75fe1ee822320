import json
import random
