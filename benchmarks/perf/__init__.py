"""Throughput benchmarks: environment steps per second (``env``) and the agents' costs and speeds (``agent``)."""
