import lab
