"""The one launcher and supervisor of rank processes (torch-free), shared by `smoke`, `check --live`,
`check --cluster`, `run` and hang snapshots: `plan` picks ranks/backend/device from host facts,
`job` starts and watches the processes, `protocol` is what ranks and launcher say to each other.
"""
