from django.urls import URLPattern, path

from purchases import apis, draft_views, views

app_name = "purchases"

api_urlpatterns: list[URLPattern] = [
    path("checkout", apis.CheckoutApi.as_view(), name="checkout"),
    path("webhook", apis.StripeWebhookApi.as_view(), name="stripe-webhook"),
    path("status/<str:order_id>", apis.OrderStatusApi.as_view(), name="order-status"),
    path("content/<str:order_id>", apis.OrderContentApi.as_view(), name="order-content"),
    path("versions/<str:order_id>", apis.OrderVersionsApi.as_view(), name="order-versions"),
    path("regenerate-backlink", apis.RegenerateApi.as_view(), name="regenerate"),
    path("submit-for-review", apis.SubmitForReviewApi.as_view(), name="submit-for-review"),
    path("lookup", apis.OrderLookupApi.as_view(), name="order-lookup"),
    path("messages", apis.MessagePostApi.as_view(), name="order-message-post"),
    path("messages/<str:order_id>", apis.OrderMessagesApi.as_view(), name="order-messages"),
]

page_urlpatterns: list[URLPattern] = [
    # Before the order page: "mine" is not an order id.
    path("orders/", views.orders_lookup_page, name="orders-lookup"),
    path("orders/mine/", views.my_orders_page, name="my-orders"),
    path("orders/<str:order_id>/", views.order_page, name="order-page"),
    path("orders/<str:order_id>/messages/", views.order_message_page, name="order-message"),
    path("orders/<str:order_id>/drafts/<int:number>/", draft_views.draft_page, name="draft-page"),
    path("orders/<str:order_id>/drafts/<int:number>/submit/", draft_views.draft_submit, name="draft-submit"),
    path("purchase/test-checkout/<str:session_id>/", views.test_checkout, name="test-checkout"),
    path("order/article/", views.buy_article, name="buy-article"),
    path("articles/<slug:slug>/buy/", views.buy_backlink, name="buy-backlink"),
]
