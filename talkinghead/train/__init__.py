"""Training of the motion generator on synthetic speech and singing (``python -m talkinghead.train``).

Modules: ``text`` (random English), ``visemes`` (phoneme → viseme → landmark targets with
coarticulation; the measured table ``visemes.npz``), ``measure_visemes`` (measures that table on
real clips), ``phones`` (pocketsphinx alignment of real speech), ``augment`` (audio augmentation),
``corpus`` (synthesis of the training corpus), ``trainer`` (the loop and losses).
"""
