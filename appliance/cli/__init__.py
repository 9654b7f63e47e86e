"""The `appliance` command line: the only part of `appliance` that may import `webui`."""
