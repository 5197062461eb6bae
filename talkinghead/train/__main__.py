"""Train the motion generator: ``python -m talkinghead.train [--out weights/motion_generator.safetensors]``.

1. Synthesise the corpus (speech + singing + backgrounds with exact phoneme timing; cached in
   ``--cache`` so a rerun with the same settings skips this), and a separate validation corpus.
2. Train (:mod:`talkinghead.train.trainer`) with the measured viseme table (``visemes.npz``).
3. Write the float32 safetensors (config and training summary in its metadata) and a JSON
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

from talkinghead.motion import MotionConfig, save_motion_generator
from talkinghead.train.corpus import CorpusConfig, build
from talkinghead.train.trainer import TrainConfig, train
from talkinghead.train.visemes import load_table

REPO = Path(__file__).resolve().parents[2]


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
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    t0 = time.time()
    base = CorpusConfig(seed=args.corpus_seed, workers=args.workers)
    cfg = replace(base, n_speech=round(base.n_speech * args.scale), n_song=round(base.n_song * args.scale),
                  n_background=round(base.n_background * args.scale))
    val_cfg = replace(cfg, seed=cfg.seed + 7919, n_speech=96, n_song=24, n_background=8)
    corpus = build(cfg, args.cache)
    val = build(val_cfg, args.cache)
    t_data = time.time() - t0

    table = load_table()
    tcfg = replace(TrainConfig(), steps=args.steps, batch=args.batch, seed=args.seed, threads=args.threads)
    gen, summary = train(corpus, val, table.shapes, tcfg, MotionConfig())
    summary.update({
        "command": "python -m talkinghead.train " + " ".join(sys.argv[1:] if argv is None else argv),
        "corpus": {**asdict(cfg), "items": len(corpus), "hours": round(corpus.seconds() / 3600, 3)},
        "validation_corpus": {**asdict(val_cfg), "items": len(val), "hours": round(val.seconds() / 3600, 3)},
        "corpus_seconds": round(t_data, 1),
        "viseme_table": table.source,
        "parameters": sum(p.numel() for p in gen.parameters()),
    })
    path = save_motion_generator(gen, args.out, summary={k: v for k, v in summary.items() if k != "history"})
    sidecar = args.out.with_suffix(".json")
    sidecar.write_text(json.dumps({"config": json.loads(gen.config.to_json()), **summary}, indent=1) + "\n")
    logging.getLogger(__name__).info("wrote %s and %s (%.0f s in all)", path, sidecar, time.time() - t0)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
