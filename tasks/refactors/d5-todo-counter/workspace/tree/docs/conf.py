project = "demo"
extensions = []
