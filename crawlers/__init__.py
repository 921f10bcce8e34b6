"""The patrol: a Scrapy project (settings, items, pipelines, spiders/), the platform parsers and the
platform simulator. It writes through registry/ services."""
