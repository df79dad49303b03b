.PHONY: demo test lint bench
demo:
	bash scripts/demo.sh
test:
	bash scripts/test.sh
lint:
	bash scripts/lint.sh
bench:
	bash scripts/test.sh --co -q >/dev/null && .venv/bin/python benchmarks/bench_engine.py
