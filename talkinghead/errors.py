"""User-facing errors: one exception type whose message says what went wrong and what to do."""


class InputError(ValueError):
    """Bad user input (file, face, audio, option). The message is shown to the user as is.

    Every message names the problem and the fix, e.g. "No face found in the portrait: upload a
    photo where one face is clearly visible and roughly frontal."
    """
