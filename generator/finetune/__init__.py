"""Fine-tuning the copy model: LoRA adapters trained by SFT (multi-objective loss) or by RL.

Engine only: plain data in, adapter folders out (the services in `generator.adapters` record
the runs), except `dataset`, which reads the training data from the database. torch,
transformers and peft are imported inside functions. One module per job:

- `config`: the run's settings (LoRA, loss weights, steps) and its result;
- `data`: training examples and RL prompts, their tags and weights, the step's batch;
- `dataset`: the category's examples and prompts gathered from the database and the seed corpus;
- `tokens`: what the tokenizer says (chat rendering, end of turn, content and valence vectors);
- `loss`: the written multi-objective SFT loss and the batches it reads;
- `run`: LoRA attachment, checkpoints, the step loop and the run-finishing step shared by both modes;
- `sft`: supervised training with that loss;
- `rl`: REINFORCE on the reranker's reward;
- `reward`: that reward with copy that fails a guard counted as worthless (RL and the evaluation gate).
"""
