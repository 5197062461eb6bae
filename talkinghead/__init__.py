"""talkinghead: Style Transfer for 2D Talking Head Generation (Pham et al., CVPRW 2024)."""

__version__ = "0.1.0"
