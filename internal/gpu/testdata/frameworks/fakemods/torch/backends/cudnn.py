def is_available():
    return True


def version():
    return 91900
