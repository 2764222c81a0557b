// Runs first in <body>: lets GOV.UK Frontend styles know that JavaScript is available.
document.body.className += " js-enabled" +
  ("noModule" in HTMLScriptElement.prototype ? " govuk-frontend-supported" : "");
