"""Write the dataset."""
import json
import lab
