from django.shortcuts import render

from .access import manager_required


@manager_required
def integration_list(request):
    return render(request, "integrations/integration_list.html", {})
