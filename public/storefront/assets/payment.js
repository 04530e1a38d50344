// The deployed payment step: Stripe.js's Payment Element for the PaymentIntent whose client secret the page carries.
// Stripe then redirects to the return URL; the webhook tells the server the order is paid.
(() => {
  "use strict";
  const form = document.getElementById("payment-form");
  if (!form || typeof window.Stripe !== "function") return;
  const stripe = window.Stripe(form.dataset.publishableKey);
  const elements = stripe.elements({ clientSecret: form.dataset.clientSecret });
  elements.create("payment").mount("#payment-element");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const { error } = await stripe.confirmPayment({ elements, confirmParams: { return_url: form.dataset.returnUrl } });
    if (error) document.getElementById("payment-message").textContent = error.message || "The payment did not go through.";
  });
})();
