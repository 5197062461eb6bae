"""Train the motion generator: ``python -m talkinghead.train [--out weights/motion_generator.safetensors]``.

1. Synthesise the corpus (speech + singing + backgrounds with exact phoneme timing; cached in
   ``--cache`` so a rerun with the same settings skips this), and a separate validation corpus.
2. Unless ``--real-batch 0``: the real-video set (:mod:`talkinghead.train.realdata`: GRID speaker
   s1 from ``--data``, tracked and cached in ``--cache``); every ``REAL_VAL_EVERY``-th clip is kept
   for validation.
3. Train (:mod:`talkinghead.train.trainer`) with the measured viseme table (``visemes.npz``) on
   synthetic crops plus real crops each step (or fine-tune ``--init``).
4. Write the float32 safetensors (config and training summary in its metadata) and a JSON
   sidecar next to it with the same summary.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np

from talkinghead.motion import MotionConfig, load_motion_generator, save_motion_generator
from talkinghead.train import realdata
from talkinghead.train.corpus import CorpusConfig, build
from talkinghead.train.trainer import TrainConfig, train
from talkinghead.train.visemes import load_table

REPO = Path(__file__).resolve().parents[2]
REAL_VAL_EVERY = 20  # every 20th real clip (sorted by name) is validation, not training


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m talkinghead.train", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "weights" / "motion_generator.safetensors")
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "talkinghead",
                        help="where the synthetic corpus is cached")
    parser.add_argument("--steps", type=int, default=TrainConfig.steps)
    parser.add_argument("--batch", type=int, default=TrainConfig.batch)
    parser.add_argument("--seed", type=int, default=0, help="training seed (the corpus has its own)")
    parser.add_argument("--corpus-seed", type=int, default=CorpusConfig.seed)
    parser.add_argument("--scale", type=float, default=1.0,
                        help="corpus size factor (1 = 2000 speech, 400 song, 100 background items)")
    parser.add_argument("--workers", type=int, default=2, help="processes synthesising the corpus")
    parser.add_argument("--threads", type=int, default=TrainConfig.threads, help="torch threads for training")
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "avdata",
                        help="real talking-face clips (train/grid_s1 is used)")
    parser.add_argument("--real-batch", type=int, default=TrainConfig.real_batch,
                        help="real crops per step (0: synthetic only)")
    parser.add_argument("--real-weight", type=float, default=TrainConfig.real_weight)
    parser.add_argument("--lr", type=float, default=TrainConfig.lr)
    parser.add_argument("--closure-weight", type=float, default=TrainConfig.w_closure,
                        help="weight of the closure term (lips apart where they must meet)")
    parser.add_argument("--utterance-norm", action="store_true",
                        help="remove each utterance's mean spectral shape from the input")
    parser.add_argument("--phones", action="store_true",
                        help="add pocketsphinx phone posteriors to the input (talkinghead.acoustic)")
    parser.add_argument("--spectral-dropout", type=float, default=0.0,
                        help="with --phones: share of training sequences whose spectral feature is dropped")
    parser.add_argument("--real-augment", type=int, default=0, metavar="K",
                        help="add K augmented copies of every real training clip (other voices' speed and pitch, "
                             "channels, noise, music; realdata.augmented)")
    parser.add_argument("--init", type=Path, default=None, help="fine-tune these weights instead of training anew")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    t0 = time.time()
    base = CorpusConfig(seed=args.corpus_seed, workers=args.workers)
    cfg = replace(base, n_speech=round(base.n_speech * args.scale), n_song=round(base.n_song * args.scale),
                  n_background=round(base.n_background * args.scale))
    val_cfg = replace(cfg, seed=cfg.seed + 7919, n_speech=96, n_song=24, n_background=8)
    corpus = build(cfg, args.cache)
    val = build(val_cfg, args.cache)

    real = real_val = None
    if args.real_batch > 0:
        clips = realdata.default_clips(args.data)
        if not clips:
            parser.error(f"no real clips under {args.data}/train/grid_s1 (use --real-batch 0 to train without)")
        everything = realdata.build(clips, args.cache, workers=args.workers)
        held = np.arange(len(everything)) % REAL_VAL_EVERY == REAL_VAL_EVERY // 2
        real, real_val = everything.subset(~held), everything.subset(held)
        if args.real_augment > 0:
            real = realdata.concatenate([real, realdata.augmented(
                real, clips[0].parent, args.cache, copies=args.real_augment, seed=args.seed)])
        logging.getLogger(__name__).info("real clips: %s", realdata.summarise(everything))
    t_data = time.time() - t0

    table = load_table()
    tcfg = replace(TrainConfig(), steps=args.steps, batch=args.batch, seed=args.seed, threads=args.threads,
                   real_batch=args.real_batch, real_weight=args.real_weight, lr=args.lr,
                   w_closure=args.closure_weight)
    init = load_motion_generator(path=args.init) if args.init is not None else None
    if init is not None:
        model_cfg = replace(init.config, phones=init.config.phones or args.phones)
    else:
        model_cfg = MotionConfig(utterance_norm=args.utterance_norm, phones=args.phones,
                                 spectral_dropout=args.spectral_dropout)
    gen, summary = train(corpus, val, table.shapes, tcfg, model_cfg, real=real, real_val=real_val, init=init)
    summary.update({
        "command": "python -m talkinghead.train " + " ".join(sys.argv[1:] if argv is None else argv),
        "corpus": {**asdict(cfg), "items": len(corpus), "hours": round(corpus.seconds() / 3600, 3)},
        "validation_corpus": {**asdict(val_cfg), "items": len(val), "hours": round(val.seconds() / 3600, 3)},
        "corpus_seconds": round(t_data, 1),
        "viseme_table": table.source,
        **({"real_corpus": {"clips": len(real), "validation_clips": len(real_val),
                            "minutes": round(real.seconds() / 60, 1), "source": "GRID corpus speaker s1 (CC BY 4.0)",
                            "augmented_copies": args.real_augment,
                            "validation": [str(n) for n in real_val.names]}} if real is not None else {}),
        **({"init": str(args.init)} if args.init is not None else {}),
        "parameters": sum(p.numel() for p in gen.parameters()),
    })
    path = save_motion_generator(gen, args.out, summary={k: v for k, v in summary.items() if k != "history"})
    sidecar = args.out.with_suffix(".json")
    sidecar.write_text(json.dumps({"config": json.loads(gen.config.to_json()), **summary}, indent=1) + "\n")
    logging.getLogger(__name__).info("wrote %s and %s (%.0f s in all)", path, sidecar, time.time() - t0)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
