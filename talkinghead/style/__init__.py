"""Style clip analysis (paper §3.2, §4, §5.4.3): track, neutral face, None/M/R/O references,
style motion φ_s, head-pose track and blinks. The public names are re-exported by
:mod:`talkinghead.references`."""
