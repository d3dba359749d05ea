// Renders the API description at /api/v1/docs with the vendored Redoc bundle.
(function () {
  var el = document.getElementById('redoc');
  Redoc.init(el.getAttribute('data-spec-url'), {
    expandResponses: '200,201',
    hideHostname: true,
    pathInMiddlePanel: true,
    sortPropsAlphabetically: false
  }, el);
})();
