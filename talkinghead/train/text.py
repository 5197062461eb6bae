"""Random English text for speech synthesis: sentences from templates, word lists, pseudo-words.

The motion generator learns mouth shapes from phonemes, not meaning, so the text only has to
cover English phonotactics broadly: every vowel and consonant in many contexts, short and long
words, questions and exclamations (intonation), lists and clauses (pauses). Bilabials, rounded
and open vowels are common in the lists because they are the shapes that matter most on a face.
"""

from __future__ import annotations

import numpy as np

NOUNS = """
apple arm baby back ball band bank base bath beach bean bear bed bee bell bike bird boat body bone
book boot bottle box boy bread bridge brother brush bubble bus butter button cake camera car card
cat chair cheese child church city clock cloud coat coffee cookie corner cow cup dad day desk dog
door dream dress drum duck ear earth egg engine eye face family farm father feather field finger
fire fish flag floor flower food foot forest fork friend frog fruit game garden girl glass goat
gold grass hair hammer hand hat head heart hill home honey horse house ice island jacket jam job
juice key king kitchen kite knife lake lamp leaf leg letter light lion lip map market milk mirror
money monkey moon morning mother mountain mouse mouth movie music name neck night nose number ocean
office orange owl page paper park party pen pencil people phone piano picture pig pillow plane
plate pocket potato queen rabbit rain river road rock roof room rope rose ruler salt school sea
seat sheep shell ship shirt shoe shop shoulder sister sky smile snake snow soap sock song soup
spoon spring star stone street sugar summer sun table teacher tea thumb ticket tiger time toe
tooth tower town toy train tree truck umbrella uncle valley village voice wall watch water whale
wheel window wing winter wolf woman wood word world year zebra zoo baboon bamboo balloon puppy
pumpkin pepper mama papa bubblegum moment member problem power beauty opera ballad rhythm melody
"""

VERBS = """
ask bake be bring build buy call carry catch change climb close come cook count cry cut dance
draw dream drink drive eat fall feel find fix fly follow forget give go grow hear help hide hold
hope hug jump keep kick kiss know laugh learn leave like listen live look love make march meet
move need open paint pay pick plan play pour pull push put read remember ride ring run say see
sell send shout show sing sit sleep smell smile speak spend stand start stay stop swim take talk
teach tell think throw touch try turn use visit wait walk want wash watch wave wear win wish work
write yawn mumble wobble bubble bump bounce bob bloom boom bellow murmur whisper
"""

ADJECTIVES = """
bad beautiful big black blue bold brave bright brown busy calm cheap clean clever cold cool cute
dark deep dirty dry early easy empty fast fat few fine free fresh full funny gentle good great
green happy hard heavy high hot huge kind large late lazy light little long loud low lucky mad
new nice noisy old orange pale perfect pink plain polite poor pretty proud purple quick quiet
rich right round sad sharp short shy simple slow small smooth soft sour strong sweet tall thick
thin tiny warm wet white wide wild wise wonderful wooden yellow young amazing marvelous bumpy
"""

NAMES = """
Anna Bob Maria Peter Paul Emma Mike Molly Ben Beth Tom Lucy Sam Zoe Max Mia Leo Ava Noah Ruth
Oliver Olivia James Sophie Hugo Ivy George Rosa Omar Yuki Pablo Amy Bruno Mabel Boris Fatima
"""

ADVERBS = """
always never often quickly slowly happily sadly quietly loudly really very almost soon today
tomorrow yesterday again maybe perhaps suddenly finally together outside upstairs somewhere
"""

PLACES = """
in the park|at home|by the river|on the boat|under the bridge|near the market|at the beach|in
the kitchen|on the moon|behind the barn|across the bay|at the opera|in my room|by the window
"""

INTERJECTIONS = ["oh", "wow", "hey", "well", "ah", "hmm", "oops", "yes", "no", "okay", "bravo", "oh my"]

_TEMPLATES = [
    "{Name} {verb_s} the {adj} {noun}.",
    "The {noun} {verb_ed} {place}.",
    "Why did the {adj} {noun} {verb} {place}?",
    "I {adv} {verb} my {noun} and my {noun2}.",
    "{Interj}, the {noun} is so {adj}!",
    "Please {verb} the {noun} before {Name} comes back.",
    "We {verb_ed} a {adj} {noun}, a {adj2} {noun2}, and a {noun3}.",
    "Do you {verb} {adj} {noun}s {place}?",
    "My {noun} and your {noun2} {verb_ed} {adv}.",
    "If the {noun} is {adj}, {Name} will {verb} it.",
    "{Name} said that the {noun} was {adj} and {adj2}.",
    "{number} {adj} {noun}s {verb_ed} {place}.",
    "Maybe the {noun} can {verb}, but the {noun2} cannot.",
    "{Interj}! {Name} {verb_s} {place} again.",
    "There is a {adj} {noun} {place}, and it {verb_s} {adv}.",
    "How many {noun}s did {Name} {verb} {adv}?",
]

_NUMBERS = ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "twenty",
            "a hundred", "forty four", "ninety nine", "a million", "seventy"]


def _words(block: str) -> list[str]:
    return block.split()


def _s_form(verb: str) -> str:
    if verb.endswith(("s", "sh", "ch", "x", "z")):
        return verb + "es"
    if verb.endswith("y") and verb[-2] not in "aeiou":
        return verb[:-1] + "ies"
    return verb + "s"


def _ed_form(verb: str) -> str:
    if verb.endswith("e"):
        return verb + "d"
    if verb.endswith("y") and verb[-2] not in "aeiou":
        return verb[:-1] + "ied"
    return verb + "ed"  # irregular verbs come out as pseudo-words; espeak still speaks them


class TextGenerator:
    """Seeded generator of English sentences, word lists and pseudo-words."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.nouns = _words(NOUNS)
        self.verbs = _words(VERBS)
        self.adjs = _words(ADJECTIVES)
        self.names = _words(NAMES)
        self.advs = _words(ADVERBS)
        self.places = [p.strip().replace("\n", " ") for p in PLACES.replace("\n", " ").split("|")]

    def _pick(self, items: list[str]) -> str:
        return items[int(self.rng.integers(len(items)))]

    def sentence(self) -> str:
        t = self._pick(_TEMPLATES)
        verb = self._pick(self.verbs)
        fill = {
            "Name": self._pick(self.names),
            "verb": verb,
            "verb_s": _s_form(verb),
            "verb_ed": _ed_form(self._pick(self.verbs)),
            "noun": self._pick(self.nouns),
            "noun2": self._pick(self.nouns),
            "noun3": self._pick(self.nouns),
            "adj": self._pick(self.adjs),
            "adj2": self._pick(self.adjs),
            "adv": self._pick(self.advs),
            "place": self._pick(self.places),
            "Interj": self._pick(INTERJECTIONS).capitalize(),
            "number": self._pick(_NUMBERS).capitalize(),
        }
        return t.format(**fill)

    def word_list(self, n: int) -> str:
        """Isolated words separated by commas (clear onsets, pauses in between)."""
        pool = self.nouns + self.verbs + self.adjs
        return ", ".join(self._pick(pool) for _ in range(n)) + "."

    def pseudo_word(self) -> str:
        """A pronounceable nonsense word from English-like syllables ("bamopo", "fleeshun")."""
        onsets = ["b", "p", "m", "f", "v", "t", "d", "n", "l", "s", "z", "sh", "ch", "j", "k", "g", "h",
                  "w", "r", "y", "th", "bl", "pr", "st", "fl", "gr", "sm", "tw", "", ""]
        nuclei = ["a", "e", "i", "o", "u", "oo", "ee", "ai", "oa", "ou", "ay", "ar", "or", "er", "aw", "oy"]
        codas = ["", "", "", "m", "n", "p", "b", "t", "d", "k", "s", "l", "r", "ng", "sh", "f", "mp", "nd"]
        n_syl = int(self.rng.integers(1, 4))
        return "".join(self._pick(onsets) + self._pick(nuclei) + self._pick(codas) for _ in range(n_syl))

    def text(self, min_words: int = 6, max_words: int = 30) -> str:
        """A mixture: sentences (mostly), word lists, pseudo-word phrases."""
        kind = self.rng.random()
        if kind < 0.7:
            parts = []
            while sum(len(p.split()) for p in parts) < min_words:
                parts.append(self.sentence())
            words = " ".join(parts).split()
            return " ".join(words[:max_words]) if len(words) > max_words else " ".join(parts)
        if kind < 0.85:
            return self.word_list(int(self.rng.integers(3, 9)))
        n = int(self.rng.integers(3, 8))
        return " ".join(self.pseudo_word() for _ in range(n)).capitalize() + "."
