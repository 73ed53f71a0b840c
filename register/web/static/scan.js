// The verify page's QR code scanner (register/web/scan.py says what it is for).
//
// It reads a QR code from the camera or from a photo with zxing-wasm (the global ZXingWASM,
// loaded before this file from the register itself) and opens the certificate page it names,
// on this site. Every word it shows comes from the page (data-msg-* attributes of
// #scan-controls, translated with the page): none is written here.
//
// Only this register's certificate addresses are opened: a QR code whose text is this site's
// ROOT/c/NUMBER, or the body's printed certificate address (data-certificate-prefix) followed by
// a NUMBER. The address opened is built here from the number, never taken from the QR code,
// so an attacker's QR code cannot send the reader elsewhere. Anything else is shown, not
// opened. A signed payload in the QR code ("CR1:...", issue 14) is handed to the page's offline
// check (static/offline.js) with the event "certreg:payload", and nothing is opened.
"use strict";

(function () {
  const box = document.getElementById("scan-controls");
  const zxing = window.ZXingWASM;
  if (!box) {
    return;
  }
  const data = box.dataset;
  const message = document.getElementById("scan-message");
  const cameraButton = document.getElementById("scan-camera");
  const stopButton = document.getElementById("scan-stop");
  const video = document.getElementById("scan-video");
  const photo = document.getElementById("scan-photo");
  const canvas = document.createElement("canvas");
  const context = canvas.getContext("2d", { willReadFrequently: true });
  const OPTIONS = { formats: ["QRCode"], tryHarder: true, maxNumberOfSymbols: 1 };
  // A certificate number as the register stores it (register.records.normalise_number).
  const NUMBER = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
  const CAMERA_PIXELS = 1280; // a video frame is scaled down to this width at most
  const PHOTO_PIXELS = 2560; // and a photo to this side at most: enough for a QR in view
  let stream = null;
  let timer = 0;
  let lastShown = "";

  box.hidden = false;

  function say(text, values) {
    let words = text || "";
    for (const [name, value] of Object.entries(values || {})) {
      words = words.split("%(" + name + ")s").join(value);
    }
    message.textContent = words; // text, never HTML: a QR code's content is shown as it is
  }

  if (!zxing || !context) {
    say(data.msgFailed);
    cameraButton.disabled = true;
    photo.disabled = true;
    return;
  }
  const wasmUrl = new URL(data.wasmUrl, location.href).href;
  zxing.prepareZXingModule({
    overrides: {
      locateFile: (path, prefix) => (path.endsWith(".wasm") ? wasmUrl : prefix + path),
    },
  });

  // The number of this register's certificate that ``text`` is the address of, or null.
  function certificateNumber(text) {
    let url;
    try {
      url = new URL(text.trim());
    } catch (error) {
      return null; // not an address at all: plain text, a Wi-Fi QR code, a vCard...
    }
    if ((url.protocol !== "https:" && url.protocol !== "http:") || url.username || url.password) {
      return null;
    }
    const prefixes = [new URL(data.root + "c/", location.href).href];
    if (data.certificatePrefix) {
      try {
        prefixes.push(new URL(data.certificatePrefix).href);
      } catch (error) {
        // a body without a usable public address: this site's own addresses only
      }
    }
    const address = url.origin + url.pathname; // its query (?lang=) and fragment do not matter
    for (const prefix of prefixes) {
      if (address.startsWith(prefix)) {
        let number;
        try {
          number = decodeURIComponent(address.slice(prefix.length)).replace(/\/$/, "");
        } catch (error) {
          return null;
        }
        return NUMBER.test(number) ? number.toUpperCase() : null;
      }
    }
    return null;
  }

  // What to do with a QR code's text: open its certificate (true), or say why not (false).
  function readQr(text) {
    if (text.trim().startsWith("CR1:")) {
      stopCamera(false);
      say("");
      document.dispatchEvent(new CustomEvent("certreg:payload", { detail: text.trim() }));
      return true;
    }
    const number = certificateNumber(text);
    if (number === null) {
      const shown = text.length > 200 ? text.slice(0, 200) + "…" : text;
      if (shown !== lastShown) {
        say(data.msgNotOurs, { text: shown });
        lastShown = shown;
      }
      return false;
    }
    stopCamera(false);
    say(data.msgOpening, { number: number });
    const page = new URL(data.root + "c/" + encodeURIComponent(number), location.href);
    const lang = new URLSearchParams(location.search).get("lang");
    if (lang) {
      page.searchParams.set("lang", lang); // a language chosen with ?lang= stays chosen
    }
    location.assign(page.href);
    return true;
  }

  // The first QR code's text in the picture ``source`` (a video or an image), scaled to fit
  // ``limit`` pixels, or null when there is none.
  async function decode(source, width, height, limit) {
    const scale = Math.min(1, limit / Math.max(width, height));
    canvas.width = Math.max(1, Math.round(width * scale));
    canvas.height = Math.max(1, Math.round(height * scale));
    context.drawImage(source, 0, 0, canvas.width, canvas.height);
    const pixels = context.getImageData(0, 0, canvas.width, canvas.height);
    const results = await zxing.readBarcodes(pixels, OPTIONS);
    const found = results.find((result) => result.isValid !== false && result.text);
    return found ? found.text : null;
  }

  async function startCamera() {
    lastShown = "";
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      say(data.msgNoCamera);
      return;
    }
    say(data.msgStarting);
    try {
      stream = await navigator.mediaDevices.getUserMedia({
        video: { facingMode: "environment" },
        audio: false,
      });
      video.srcObject = stream;
      video.hidden = false;
      stopButton.hidden = false;
      cameraButton.disabled = true;
      await video.play();
    } catch (error) {
      stopCamera(false);
      say(data.msgNoCamera);
      return;
    }
    stopButton.focus(); // the next thing a keyboard user may want
    say(data.msgScanning);
    scanFrame();
  }

  async function scanFrame() {
    timer = 0;
    if (stream === null) {
      return;
    }
    if (video.readyState >= 2 && video.videoWidth > 0) {
      let text;
      try {
        text = await decode(video, video.videoWidth, video.videoHeight, CAMERA_PIXELS);
      } catch (error) {
        stopCamera(false);
        say(data.msgFailed);
        return;
      }
      if (text !== null && readQr(text)) {
        return;
      }
    }
    if (stream !== null) {
      timer = setTimeout(scanFrame, 150);
    }
  }

  function stopCamera(announce) {
    if (timer) {
      clearTimeout(timer);
      timer = 0;
    }
    if (stream !== null) {
      for (const track of stream.getTracks()) {
        track.stop();
      }
      stream = null;
    }
    const hadFocus = document.activeElement === stopButton;
    video.srcObject = null;
    video.hidden = true;
    stopButton.hidden = true;
    cameraButton.disabled = false;
    if (hadFocus) {
      cameraButton.focus();
    }
    if (announce) {
      say(data.msgStopped);
    }
  }

  async function readPhoto() {
    const file = photo.files && photo.files[0];
    if (!file) {
      return;
    }
    stopCamera(false);
    lastShown = "";
    say(data.msgReading);
    let picture;
    try {
      picture = await createImageBitmap(file);
    } catch (error) {
      say(data.msgUnreadable);
      return;
    }
    let text;
    try {
      text = await decode(picture, picture.width, picture.height, PHOTO_PIXELS);
    } catch (error) {
      say(data.msgFailed);
      return;
    } finally {
      picture.close();
    }
    if (text === null) {
      say(data.msgNoQr);
    } else {
      readQr(text);
    }
  }

  cameraButton.addEventListener("click", startCamera);
  stopButton.addEventListener("click", () => stopCamera(true));
  photo.addEventListener("change", readPhoto);
  window.addEventListener("pagehide", () => stopCamera(false));
})();
