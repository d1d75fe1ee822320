import digits.train  # cycle
