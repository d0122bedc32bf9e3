"""The only code that touches the OS, NVML, sockets and subprocesses."""
