"""Fine-tuning: LoRA/QLoRA on one task of the dataset, resumable, measured.

Modules: settings (typed train settings + derived numbers), data (tokenize, pack, collate),
checkpoint (save/restore everything a resume needs), loop (the training loop and validation
loss), outputs (log, plot, atomic publication of the run directory), cli (the `train` verb).
"""
