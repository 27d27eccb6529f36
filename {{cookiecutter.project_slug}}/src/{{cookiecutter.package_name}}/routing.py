"""The service's queues: ``default`` and ``critical``, and its domain queues.

Every task defined in ``tasks/<queue>.py`` is routed to ``<queue>``; any other
task to ``default``. Urgent work goes to ``critical``, which has workers of its own.
To add a queue, add its name here and write ``tasks/<name>.py``: the general worker
group consumes it with no deploy file changed (README, "What to change where").
"""

from __future__ import annotations

# Queues besides "default" and "critical".
{%- set domain_queues = cookiecutter.__domain_queues.split(',') | select | list %}
{%- if domain_queues | length == 1 %}
DOMAIN_QUEUES: tuple[str, ...] = ("{{ domain_queues[0] }}",)
{%- else %}
DOMAIN_QUEUES: tuple[str, ...] = ({% for queue in domain_queues %}
    "{{ queue }}",{% endfor %}{% if domain_queues %}
{% endif %})
{%- endif %}
