"""Bare DRF endpoints over ``FlatTicket``: the same authentication and throttling as the real API, one row
read or written per request. Mounted under /bench/ only when KEFU_BENCH_ENDPOINTS is true.
"""

from __future__ import annotations

from rest_framework import serializers, status
from rest_framework.generics import get_object_or_404
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from api.auth import IsStorefront
from benchmarks.models import FlatTicket


class FlatTicketSerializer(serializers.ModelSerializer):
    class Meta:
        model = FlatTicket
        fields = ["id", "number", "kind", "state", "order_number", "sku", "quantity", "reason", "created_at"]
        read_only_fields = ["id", "number", "state", "created_at"]


class FlatPagination(CursorPagination):
    ordering = ("-created_at", "-id")
    page_size = 20


class FlatListCreateApi(APIView):
    permission_classes = [IsStorefront]

    def get(self, request):
        paginator = FlatPagination()
        page = paginator.paginate_queryset(
            FlatTicket.objects.filter(shop_code=request.user.shop.code), request, view=self
        )
        return paginator.get_paginated_response(FlatTicketSerializer(page, many=True).data)

    def post(self, request):
        payload = FlatTicketSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        row = payload.save(shop_code=request.user.shop.code, number="FLAT", state="requested")
        return Response(FlatTicketSerializer(row).data, status=status.HTTP_201_CREATED)


class FlatDetailApi(APIView):
    permission_classes = [IsStorefront]

    def get(self, request, pk: int):
        row = get_object_or_404(FlatTicket, pk=pk, shop_code=request.user.shop.code)
        return Response(FlatTicketSerializer(row).data)


class FlatTransitionApi(APIView):
    permission_classes = [IsStorefront]

    def post(self, request, pk: int):
        row = get_object_or_404(FlatTicket, pk=pk, shop_code=request.user.shop.code)
        row.state = "cancelled" if row.state == "requested" else "requested"
        row.save(update_fields=["state"])
        return Response(FlatTicketSerializer(row).data)
