"""Exceptions raised by Affectline.

Every error a user can cause or meet derives from :class:`AffectlineError`, and its message says
what is wrong and what to do about it. The CLI prints the message on one line; the API maps the
classes onto HTTP codes in one handler.

    AffectlineError
    ├── InputError                   the user's input cannot be analysed
    │   ├── MediaNotFoundError       the path does not exist or is not a regular file
    │   ├── EmptyMediaError          the file has zero bytes
    │   ├── NotMediaError            ffmpeg cannot read the file as audio, video or an image
    │   ├── UnsafeMediaError         a URL, playlist or other file that points outside the upload
    │   ├── CorruptMediaError        ffmpeg recognised the file but could not decode it
    │   └── MissingStreamError       the file lacks a stream the analysis needs (video for faces)
    ├── ToolError                    an external tool (ffmpeg) is missing or failed unexpectedly
    ├── ModelError                   a model could not be resolved or loaded
    │   ├── ModelNotFoundError       no copy of the weights was found offline
    │   └── ModelChecksumError       a file's sha256 differs from the pinned one
    └── SettingsError                a setting has an invalid value
"""

from __future__ import annotations


class AffectlineError(Exception):
    """Root of every error Affectline raises on purpose."""


class InputError(AffectlineError):
    """The input cannot be analysed; the message says why and what to do."""


class MediaNotFoundError(InputError):
    """The path does not exist, or is not a regular file or folder."""


class EmptyMediaError(InputError):
    """The file exists but has zero bytes."""


class NotMediaError(InputError):
    """ffmpeg does not recognise the file as audio, video or an image."""


class UnsafeMediaError(InputError):
    """The input would make ffmpeg open something other than the local file itself."""


class CorruptMediaError(InputError):
    """The container was recognised but its streams could not be decoded."""


class MissingStreamError(InputError):
    """The file has no stream of the kind the requested analysis needs."""


class ToolError(AffectlineError):
    """An external program is missing or failed in a way the input does not explain."""


class ModelError(AffectlineError):
    """A model could not be resolved or loaded."""


class ModelNotFoundError(ModelError):
    """No copy of a model's weights was found through the offline resolution order."""


class ModelChecksumError(ModelError):
    """A weights file does not have the pinned sha256."""


class SettingsError(AffectlineError):
    """A setting has a value that cannot be used."""
