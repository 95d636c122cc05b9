// Progressive enhancement only: every page works without this script (reload to refresh).
// Elements with data-live-url are refreshed from that URL (a page's partial handler) every data-live-ms (≤ 2000) ms.
(function () {
  'use strict';

  function poll(element) {
    var url = element.getAttribute('data-live-url');
    var interval = Math.min(parseInt(element.getAttribute('data-live-ms') || '2000', 10) || 2000, 2000);
    var busy = false;
    function tick() {
      if (busy || document.hidden) {
        return;
      }
      busy = true;
      fetch(url, { credentials: 'same-origin', headers: { 'Accept': 'text/html', 'X-Requested-With': 'fetch' }, redirect: 'error' })
        .then(function (response) {
          if (!response.ok) {
            throw new Error('HTTP ' + response.status);
          }
          return response.text();
        })
        .then(function (html) {
          if (element.innerHTML !== html) {
            element.innerHTML = html;
          }
          element.removeAttribute('data-live-error');
        })
        .catch(function () {
          element.setAttribute('data-live-error', 'true');
        })
        .finally(function () {
          busy = false;
        });
    }
    window.setInterval(tick, interval);
  }

  function confirmations() {
    document.querySelectorAll('form[data-confirm]').forEach(function (form) {
      form.addEventListener('submit', function (event) {
        if (!window.confirm(form.getAttribute('data-confirm'))) {
          event.preventDefault();
        }
      });
    });
  }

  document.addEventListener('DOMContentLoaded', function () {
    document.querySelectorAll('[data-live-url]').forEach(poll);
    confirmations();
  });
}());
