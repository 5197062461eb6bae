"""Package data: the canonical mean face ``canonical_face_68.npy`` (see talkinghead.face.make_canonical)."""
