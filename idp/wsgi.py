"""gunicorn entry point: `gunicorn -c deploy/gunicorn.conf.py idp.wsgi:app`.

The configuration file comes from $CIC_STS_CONFIG (default ./cic-sts.toml).
"""

from idp.config import load_config
from idp.logs import configure_logging
from idp.web import create_app

config = load_config()
configure_logging(config.server.log_level)
app = create_app(config)
