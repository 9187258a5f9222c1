# gunicorn configuration for cic-sts. Settings come from the cic-sts TOML file named by
# $CIC_STS_CONFIG; see idp/gunicorn_conf.py.
#   CIC_STS_CONFIG=/etc/cic-sts/cic-sts.toml gunicorn -c deploy/gunicorn.conf.py
from idp.gunicorn_conf import *  # noqa: F401,F403
