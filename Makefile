# tcmcare: the two commands a newcomer needs.
#   make demo   runs the main job (see README)
#   make test   runs every test (what CI runs)
.PHONY: demo test setup bench lint

setup:
	bash scripts/setup.sh

demo: setup
	cargo run --release -q -p tcmcare-conformance --bin care-home-demo

test: setup
	bash scripts/test.sh

bench:
	bash scripts/bench.sh
