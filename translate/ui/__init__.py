"""`translate ui`: a local web page (Gradio), a thin layer like cli/ over the same library calls.

serve.py launches it; page.py lays out the tabs; translate_job, detect_job and train_job do each tab's work
without Gradio (so they are tested without a browser); models.py lists what the model picker offers.
"""
