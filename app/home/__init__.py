"""The home page (`/`): each role's landing page after sign-in."""
from flask import Blueprint

bp = Blueprint("home", __name__)

from app.home import views  # noqa: E402,F401
