from django.urls import path

from payments.views import alipay_notify, wechatpay_notify

urlpatterns = [
    path("alipay/notify/<str:shop>", alipay_notify, name="alipay-notify"),
    path("wechatpay/notify/<str:shop>", wechatpay_notify, name="wechatpay-notify"),
]
