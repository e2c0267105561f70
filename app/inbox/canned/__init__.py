"""Canned replies: message_templates (CANNED) with merge fields, rendered in a sandbox.

rendering.py: the field catalogue, the save-time check and the sandboxed render;
fields.py: the values of the catalogue's fields for a lead and a rep; services.py: save,
archive, render_canned (what the composers call); views.py: Settings → Message templates
(/settings/templates, with a live preview) and the composers' picker (/inbox/canned/...).
"""
