# Saved views of the contact list and each member's default one (issue 18, item 2).

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('crm', '0018_custom_fields'),
    ]

    operations = [
        migrations.CreateModel(
            name='SavedView',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(max_length=80, verbose_name='name of the view')),
                ('params', models.JSONField(blank=True, default=dict, verbose_name='filters')),
                ('shared', models.BooleanField(default=False, verbose_name='shared with the company')),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now, editable=False)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('owner', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='crm.membership', verbose_name='owner')),
                ('tenant', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='crm.tenant')),
            ],
            options={
                'verbose_name': 'saved view',
                'verbose_name_plural': 'saved views',
            },
        ),
        migrations.CreateModel(
            name='SavedViewDefault',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('member', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='crm.membership')),
                ('tenant', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='crm.tenant')),
                ('view', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='crm.savedview')),
            ],
        ),
        migrations.AddIndex(
            model_name='savedview',
            index=models.Index(fields=['tenant', 'shared', 'name'], name='savedview_tenant_shared'),
        ),
        migrations.AddConstraint(
            model_name='savedview',
            constraint=models.UniqueConstraint(fields=('tenant', 'owner', 'name'), name='savedview_unique_name'),
        ),
        migrations.AddConstraint(
            model_name='savedview',
            constraint=models.UniqueConstraint(condition=models.Q(('shared', True)), fields=('tenant', 'name'), name='savedview_unique_shared_name'),
        ),
        migrations.AddConstraint(
            model_name='savedviewdefault',
            constraint=models.UniqueConstraint(fields=('tenant', 'member'), name='savedviewdefault_one'),
        ),
    ]
