"""Nightly retraining: a versioned data set from the docs and feedback, a LoRA trained on
it, gated by `engine.evaluation`, shipped as a GGUF LoRA (llama.cpp) and an Ollama
Modelfile, and put in service by moving the adapter pointer (`engine.adapters`).

`pipeline` runs the stages: `base` (model), `dataset`, `train`, `export`, `gate`,
`report`; `history` lists shipped adapters and rolls back. `config` is `[finetune]`.
The CLI (`teamkb retrain`, `teamkb adapter`) lives in `teamkb.commands.retrain`.

Depends on `engine` and `knowledge`; nothing there imports this package, and this
package imports neither `teamkb` nor the front ends.
"""

import os

# OpenMP threads that spin while they wait collapse when the machine is shared (the bot,
# llama.cpp, indexing): measured here, training the tiny model went from 64 to 5,600
# tokens/s with passive waiting under load. Only effective before torch is imported, and
# an explicit setting wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
