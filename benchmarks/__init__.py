"""Benchmarks: the benchmark runner and the throughput benchmarks; they depend on agents and textgym."""
