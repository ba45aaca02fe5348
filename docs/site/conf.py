"""Sphinx configuration of the rendered docs: `make docs` (docs/site/build.sh) writes the collection's RST
with antsibull-docs next to index.rst, then builds the HTML site with the Ansible theme.

The build runs offline: references into docs.ansible.com (ansible.builtin and other collections' plugins,
the reference appendices, Ansible's configuration variables) are resolved to their URLs by
``resolve_ansible_docs`` below, as intersphinx would with network access. References into this
collection are resolved by Sphinx itself, so a broken one fails the build (``-W``).
"""

from __future__ import annotations

import re

from docutils import nodes

project = "containerops.lifecycle"
copyright = "containerops engineers"
title = "containerops.lifecycle"
html_short_title = "containerops.lifecycle"

extensions = ["sphinx_antsibull_ext"]

pygments_style = "ansible"
highlight_language = "YAML+Jinja"

html_theme = "sphinx_ansible_theme"
html_show_sphinx = False
html_use_smartypants = True
html_use_modindex = False
html_use_index = False
html_copy_source = False
display_version = False

default_role = "any"
nitpicky = True

ANSIBLE_DOCS = "https://docs.ansible.com/projects/ansible/latest/"
# Labels of pages outside this collection that antsibull-docs links to, and where they live.
EXTERNAL_LABELS = {
    "common_return_values": "reference_appendices/common_return_values.html",
    "ansible_configuration_settings": "reference_appendices/config.html",
}
THIS_COLLECTION = "ansible_collections.containerops.lifecycle."
PLUGIN_LABEL = re.compile(r"ansible_collections\.(\w+)\.(\w+)\.(\w+)_(module|role|inventory|lookup|filter|test)$")


def _external_url(node) -> str | None:
    target = node.get("reftarget", "")
    if node.get("refdomain") == "std" and node.get("reftype") == "envvar" and target.startswith("ANSIBLE_"):
        return f"{ANSIBLE_DOCS}reference_appendices/config.html#envvar-{target}"
    if target in EXTERNAL_LABELS:
        return ANSIBLE_DOCS + EXTERNAL_LABELS[target]
    match = PLUGIN_LABEL.match(target)
    if match and not target.startswith(THIS_COLLECTION):
        namespace, name, plugin, kind = match.groups()
        return f"{ANSIBLE_DOCS}collections/{namespace}/{name}/{plugin}_{kind}.html"
    return None


def resolve_ansible_docs(app, env, node, contnode):
    """A reference Sphinx cannot resolve: a link to docs.ansible.com if it points there, else None."""
    url = _external_url(node)
    if url is None:
        return None
    reference = nodes.reference("", "", internal=False, refuri=url)
    reference += contnode
    return reference


def setup(app):
    app.connect("missing-reference", resolve_ansible_docs)
