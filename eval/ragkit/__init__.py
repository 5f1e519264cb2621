"""The measuring kit: it runs the product and measures it, and the product never imports it.

The eval runner and its metrics and report, the speed benchmarks, the crash drill, the bad
input corpus, the prompt-injection judge, the load run and the servers the tests start.
Installed beside `rag` for development (`pip install -e eval`), where it adds `rag eval`,
`rag report` and `rag bench` through the `rag.commands` entry-point group (`commands.py`).
"""
