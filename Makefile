# The README's two commands. Both install what a fresh machine lacks first.
#   make demo   runs the main job end to end on the embedded local stack
#   make test   runs the whole test suite (what CI runs)
.PHONY: demo test setup

demo: setup
	npm start

test: setup
	npm test

setup:
	bash scripts/setup.sh
