"""Walking-network engine for 15-minute elderly-service circles (一刻钟养老服务圈).

This package shadows coverage.py on purpose: the project never uses coverage.py or pytest-cov.
"""

__version__ = "0.1.0"
