"""The human-face check on every real portrait: animals refused, people (photos, paintings, a
statue, a cartoon) accepted, as ../shared/media/README.md says of each."""

from __future__ import annotations

import pytest

from talkinghead.errors import InputError
from talkinghead.face import get_landmarker

ANIMALS = ["lp_s22", "lp_s31", "lp_s33", "lp_s36", "lp_s39", "lp_s41"]  # monkey, 2 dogs, llama, 2 cats
PEOPLE = ["hallo_ref1", "lp_s1", "lp_s10", "lp_s2", "lp_s6", "lp_s7"]  # paintings, photos, statue, cartoon


@pytest.fixture(scope="module")
def mp_lm():
    return get_landmarker("mediapipe")


@pytest.mark.parametrize("name", ANIMALS)
def test_animal_portraits_are_refused(mp_lm, media_dir, name):
    from talkinghead import media

    image = media.load_image(media_dir / "portraits" / f"{name}.jpg")
    with pytest.raises(InputError, match=r"^No (human )?face found in the portrait"):
        mp_lm.detect(image, what="the portrait")


@pytest.mark.parametrize("name", PEOPLE)
def test_human_portraits_are_accepted(mp_lm, media_dir, name):
    from talkinghead import media
    from talkinghead.face import humanness

    image = media.load_image(media_dir / "portraits" / f"{name}.jpg")
    det = mp_lm.detect(image, what="the portrait")
    assert det.n_faces == 1
    assert humanness.human_score(image, det.points) >= humanness.HUMAN_MIN + 0.1  # measured ≥ 0.97


def test_example_portrait_is_accepted(mp_lm, examples_dir):
    from talkinghead import media

    det = mp_lm.detect(media.load_image(examples_dir / "portrait_astronaut.png"), what="the portrait")
    assert det.n_faces == 1


def test_shiba_is_refused_by_the_human_cnn(mp_lm, media_dir):
    """MediaPipe fits a mesh to the shiba and its fur is face-coloured (cue 1 silent): the
    human-only CNN refuses it."""
    from talkinghead import media
    from talkinghead.face import humanness

    image = media.load_image(media_dir / "portraits" / "lp_s31.jpg")
    (face,) = mp_lm.faces(image)
    cues = humanness.assess(image, face.points)
    assert cues.fur < humanness.FUR_MIN
    assert cues.human < humanness.HUMAN_MIN - 0.3  # measured 0.17
    assert cues.is_animal


def test_human_cnn_rule():
    from talkinghead.face.humanness import DETECTOR_LOGIT_MAX, FUR_MIN, HUMAN_MIN, HumannessCues

    assert HumannessCues(0.0, None, HUMAN_MIN - 0.01).is_animal
    assert not HumannessCues(0.0, None, HUMAN_MIN).is_animal
    assert HumannessCues(FUR_MIN, DETECTOR_LOGIT_MAX - 0.1, 1.0).is_animal  # cues 1 and 2 still refuse
