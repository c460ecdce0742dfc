"""Publishing an article's text by hand needs its own permission (``articles.publish_article``)."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('articles', '0004_articleversion_drop_order_link'),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='article',
            options={'ordering': ['-created_at'], 'permissions': [('publish_article', 'Can publish articles')]},
        ),
    ]
