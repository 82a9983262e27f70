"""The JSON API (/api/v1/, django-ninja) and signed webhooks: how forms, WeChat tools and shops
feed the funnel and hear back. It calls the same services as the pages; no rule lives here."""
