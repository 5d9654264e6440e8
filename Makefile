# tcmcare: the two commands a newcomer needs.
#   make demo   runs the main job (see README)
#   make test   runs every test (what CI runs)
.PHONY: demo test setup bench lint

setup:
	bash scripts/setup.sh

# The main job: two QEMU kiosks -> fault-injecting relay -> C terminal -> SQLite -> Python
# report (demo/demo.sh runs scripts/setup.sh itself, then builds what is missing).
demo:
	@bash demo/demo.sh

test: setup
	bash scripts/test.sh

bench:
	bash scripts/bench.sh
