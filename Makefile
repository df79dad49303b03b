.PHONY: demo test bench
demo:
	bash scripts/demo.sh
test:
	bash scripts/test.sh
bench:
	bash scripts/test.sh --co -q >/dev/null && .venv/bin/python benchmarks/bench_engine.py
