/* The docs site's only script: the language switch, the index's search and
 * filters, and copy buttons. No network, no dependencies; works from file://.
 * Loaded in <head> without `defer` so the language is set before the page
 * is drawn (no flash of the wrong language). */
(function () {
  'use strict';
  var root = document.documentElement;
  var STORE = 'spec-docs-lang';
  var languages = (root.getAttribute('data-languages') || 'en').split(' ');

  function param(name) {
    try {
      return new URLSearchParams(window.location.search).get(name);
    } catch (e) {
      return null;
    }
  }

  function stored() {
    try {
      return window.localStorage.getItem(STORE);
    } catch (e) {
      return null; // storage can be disabled, e.g. for file:// in some browsers
    }
  }

  function chosen() {
    var candidates = [param('lang'), stored(), 'en'];
    for (var i = 0; i < candidates.length; i++) {
      if (candidates[i] && languages.indexOf(candidates[i]) >= 0) return candidates[i];
    }
    return languages[0] || 'en';
  }

  /* Texts that cannot hold markup (select options, placeholders, button
   * labels) carry every language as JSON in data-t / data-t-placeholder. */
  function translate(el, attr, lang) {
    var map;
    try {
      map = JSON.parse(el.getAttribute(attr));
    } catch (e) {
      return null;
    }
    return map[lang] || map.en || null;
  }

  function setLanguage(lang, remember) {
    root.setAttribute('data-lang', lang);
    root.setAttribute('lang', lang);
    if (remember) {
      try {
        window.localStorage.setItem(STORE, lang);
      } catch (e) { /* not remembered, still switched */ }
    }
    if (!document.body) return;
    document.querySelectorAll('[data-t]').forEach(function (el) {
      var text = translate(el, 'data-t', lang);
      if (text !== null && !el.hasAttribute('data-done')) el.textContent = text;
    });
    document.querySelectorAll('[data-t-placeholder]').forEach(function (el) {
      var text = translate(el, 'data-t-placeholder', lang);
      if (text !== null) el.setAttribute('placeholder', text);
    });
    document.querySelectorAll('[data-set-lang]').forEach(function (button) {
      button.setAttribute('aria-pressed', String(button.getAttribute('data-set-lang') === lang));
    });
  }

  setLanguage(chosen(), false);

  function initIndex() {
    var list = document.getElementById('connectors');
    if (!list) return;
    var form = document.getElementById('filters');
    var q = document.getElementById('q');
    var category = document.getElementById('category');
    var auth = document.getElementById('auth');
    var shown = document.getElementById('shown');
    var empty = document.getElementById('empty');
    var cards = Array.prototype.slice.call(list.querySelectorAll('.card'));

    function has(select, value) {
      return Array.prototype.some.call(select.options, function (o) { return o.value === value; });
    }

    q.value = param('q') || '';
    var c = param('category');
    if (c && has(category, c)) category.value = c;
    var a = param('auth');
    if (a && has(auth, a)) auth.value = a;

    function apply() {
      var terms = q.value.toLowerCase().split(/\s+/).filter(Boolean);
      var count = 0;
      cards.forEach(function (card) {
        var text = card.getAttribute('data-search');
        var match = terms.every(function (t) { return text.indexOf(t) >= 0; }) &&
          (!category.value || card.getAttribute('data-category') === category.value) &&
          (!auth.value || card.getAttribute('data-auth') === auth.value);
        card.hidden = !match;
        if (match) count++;
      });
      shown.textContent = String(count);
      empty.hidden = count > 0;
      // Keep the URL shareable; file:// may refuse history changes.
      try {
        var url = new URL(window.location.href);
        [['q', q.value.trim()], ['category', category.value], ['auth', auth.value]].forEach(function (p) {
          if (p[1]) url.searchParams.set(p[0], p[1]); else url.searchParams.delete(p[0]);
        });
        window.history.replaceState(null, '', url.href);
      } catch (e) { /* the filter still applies */ }
    }

    q.addEventListener('input', apply);
    category.addEventListener('change', apply);
    auth.addEventListener('change', apply);
    form.addEventListener('submit', function (e) { e.preventDefault(); apply(); });
    document.addEventListener('keydown', function (e) {
      if (e.key === '/' && document.activeElement !== q) {
        e.preventDefault();
        q.focus();
      } else if (e.key === 'Escape' && document.activeElement === q) {
        q.value = '';
        apply();
      }
    });
    apply();
    root.setAttribute('data-ready', 'true');
  }

  function initCopy() {
    document.querySelectorAll('[data-copy]').forEach(function (button) {
      button.addEventListener('click', function () {
        var code = button.parentNode.querySelector('code');
        var text = code ? code.textContent : '';
        var done = function () {
          var label = translate(button, 'data-t-done', root.getAttribute('data-lang'));
          button.setAttribute('data-done', '');
          if (label) button.textContent = label;
          setTimeout(function () {
            button.removeAttribute('data-done');
            var back = translate(button, 'data-t', root.getAttribute('data-lang'));
            if (back) button.textContent = back;
          }, 1500);
        };
        if (navigator.clipboard && navigator.clipboard.writeText) {
          navigator.clipboard.writeText(text).then(done, function () { select(code); });
        } else {
          select(code);
        }
      });
    });
  }

  function select(node) {
    if (!node) return;
    var range = document.createRange();
    range.selectNodeContents(node);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  document.addEventListener('DOMContentLoaded', function () {
    setLanguage(root.getAttribute('data-lang'), false);
    document.querySelectorAll('[data-set-lang]').forEach(function (button) {
      button.addEventListener('click', function () {
        setLanguage(button.getAttribute('data-set-lang'), true);
      });
    });
    initIndex();
    initCopy();
    if (!root.hasAttribute('data-ready')) root.setAttribute('data-ready', 'true');
  });
})();
